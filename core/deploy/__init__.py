"""Deployment (SPEC §9): batch predictions, deployments and their prediction server, portable model packages."""
