"""The project's error types. The command line turns any :class:`MosaicirError` into a one-line
message and a non-zero exit status; anything else is a bug."""


class MosaicirError(Exception):
    """Base class of every error the project raises on purpose."""


class ImageReadError(MosaicirError):
    """A file could not be read as an image: missing, truncated, not an image, unsupported
    or larger than the configured pixel limit."""


class ImageWriteError(MosaicirError):
    """An image could not be written (unsupported extension, unwritable folder, ...)."""


class InvalidImageError(MosaicirError, ValueError):
    """An array passed to a public entry does not follow the image or mask contract."""


class UnknownNameError(MosaicirError, KeyError):
    """A name (degradation, tool, metric, suite, layout) is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain.
        return str(self.args[0]) if self.args else ""


class InvalidInputError(MosaicirError, ValueError):
    """A user-supplied argument or file (other than an image) is not acceptable."""
