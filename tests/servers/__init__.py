"""Real servers for the tests, started on loopback with free ports and torn down after."""
