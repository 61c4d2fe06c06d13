"""Object storage and Delta tables, local or S3, behind one interface."""
