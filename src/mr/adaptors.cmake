# Resource adaptors: added by the adaptors work.
