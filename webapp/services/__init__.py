"""Domain operations as plain functions, called by views, tasks and the CLI alike."""
