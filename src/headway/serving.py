"""What a web process does once, before its first request."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from django.urls import get_resolver


def settle_heap() -> None:
    """Import every view, then keep what start-up made out of the garbage collector's sweeps.

    Python's full collections walk every live object; start-up leaves a few hundred
    thousand (Django, the apps, the URL patterns) that live as long as the process. With
    them frozen (`gc.freeze`), a page no longer pays 50-70 ms now and then for a sweep
    over them: at the size of the large organisation the worst of a page's runs came down
    from about 140 ms to within 10 ms or so of its median.
    """
    get_resolver().url_patterns  # noqa: B018  (importing the URLconf imports every view)
    gc.collect()
    gc.freeze()


#: Written into STATIC_ROOT after a collect: the fingerprint of the files it collected.
COLLECTED_STAMP = ".headway-collected"


def static_fingerprint() -> str:
    """A digest of every static source file's path, size and modification time."""
    import hashlib

    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256()
    for finder in get_finders():
        for path, storage in finder.list(ignore_patterns=[]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def collect_static() -> bool:
    """Run collectstatic unless STATIC_ROOT already holds these very files; True if it ran.

    Collecting compresses every file again (about a minute on a busy machine), which
    every `headway serve` would pay at start-up for nothing when no file changed.
    """
    from django.conf import settings
    from django.core.management import call_command

    stamp = Path(settings.STATIC_ROOT) / COLLECTED_STAMP
    fingerprint = static_fingerprint()
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return False
    call_command("collectstatic", interactive=False, verbosity=0)
    stamp.write_text(fingerprint)
    return True
