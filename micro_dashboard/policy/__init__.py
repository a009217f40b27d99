"""Request-wide policy, each in a module of its own, registered in one place by create_app."""
