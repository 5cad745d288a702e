"""Folder layouts shared by the engine and the worker (standard library only)."""

import os


def model_layout(code_dir, artifacts_dir, target):
    """DRUM's scoring layout: the task folder's files and everything `fit` wrote, side by side (symlinks)."""
    os.makedirs(target)
    for source in (code_dir, artifacts_dir):
        for name in os.listdir(source):
            link = os.path.join(target, name)
            if os.path.islink(link):
                os.unlink(link)
            os.symlink(os.path.join(source, name), link)
    return target
