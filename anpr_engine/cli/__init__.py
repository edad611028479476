"""Console scripts: they wire config, Kafka I/O and the pipeline together; the only readers of env and files."""
