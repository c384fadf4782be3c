"""The build root: which roots are safe to build on, the paths that never belong in a layer,
image paths resolved inside the root, its users and groups, and emptying it between stages."""
