"""`labkit hub`: JupyterHub for a room on one machine (settings.py says what it is configured with).

Each learner logs in with their name and the room's shared password and gets their own JupyterLab in
their own home folder (their own copy of labs/ and notebooks/), with their own local cloud on a port of
their own, their own state folder (progress, work files) and LABKIT_OWNER set to their hub name.
"""
