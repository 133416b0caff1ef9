"""The media store: ``sync`` copies media classes into the bucket (or reports replication);
``plan`` decides, purely, what needs copying."""
