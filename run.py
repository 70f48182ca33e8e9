"""Run the collab server: python run.py [--host 127.0.0.1] [--port 5000] [--database URL]"""
from gevent import monkey

monkey.patch_all()  # first, before anything else is imported

from collab.serve import main  # noqa: E402

if __name__ == "__main__":
    main()
