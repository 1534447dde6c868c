//! Node wiring: starts the roles' tasks, shuts down on SIGTERM.
