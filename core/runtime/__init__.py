"""What runs inside a worker process: the harness, the hook contract, the output rules.

Standard library and pandas only, with relative imports, so the folder can be
mounted into a Docker image (with an older pandas) and started under any name.
"""
