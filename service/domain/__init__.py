"""Domain objects and rules, free of gRPC and SQL."""
