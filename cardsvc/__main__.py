"""``python -m cardsvc …``: the ``unioncard`` command, e.g. ``python -m cardsvc jobs work`` for a
job worker without the web app."""

from cardsvc.cli import main

if __name__ == "__main__":
    main()
