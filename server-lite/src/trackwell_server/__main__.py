"""``python -m trackwell_server`` starts the server (the same options as ``trackwell server``)."""

from trackwell_server.cli import main

if __name__ == "__main__":
    main()
