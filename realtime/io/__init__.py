"""Where frames come from and where results go: sources, the image loader, input expansion,
video reading/writing and the live recorder."""
