"""The zstd levels an archive is packed at, apart from the packer (and zstandard), so a
command line can check a level before anything heavy is loaded."""

DEFAULT_LEVEL = 3
MAX_LEVEL = 19
