"""GitLab internal events: definitions (events and metrics), their checks, counting as GitLab does, the generator.

The definitions are GitLab's YAML files (`config/events/*.yml`, `config/metrics/<dir>/*.yml`, and the same under
`ee/`), loaded from the folders given with `--definitions`; counting reads stored events through the store
(micro_dashboard.store.gitlab_reads)."""
