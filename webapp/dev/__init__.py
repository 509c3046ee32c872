"""Development tooling: `emgav dev` (stack.py) and the local mail catcher (mailcatcher.py).

Imported only when one of these commands is looked up (webapp/cli.py): the web server and
the Celery processes never load it.
"""
