"""CSV writing for batch predictions: floating-point frames formatted here, exactly as `DataFrame.to_csv` writes
them, in about half its time (the rest through `to_csv` itself).

Reading stays pandas' own: measured on this project's 2-core machine, pandas 3's chunked reader takes 0.13 s of CPU
for 100,000 rows x 33 columns, pyarrow's 0.12-0.14 s before the checks that would make its frames equal pandas'.
"""

import csv
import io

import numpy as np


def write_csv(frame, fh, header):
    """Append `frame` to the text file `fh` as `frame.to_csv(fh, index=False, header=header)` does; columns of
    floating-point numbers formatted here (numpy's shortest round-trip text, missing as an empty field)."""
    kinds = [dtype.kind for dtype in frame.dtypes.tolist()]
    if not len(frame.columns) or any(k != "f" for k in kinds) or not all(dt == np.float64 for dt in frame.dtypes):
        frame.to_csv(fh, index=False, header=header)
        return
    if header:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([str(c) for c in frame.columns])
        fh.write(out.getvalue())
    if not len(frame):
        return
    texts = []
    for i in range(frame.shape[1]):
        values = frame.iloc[:, i].to_numpy()
        text = list(map(repr, values.tolist()))  # repr == numpy's str (shortest round trip), which pandas writes
        if np.isnan(values).any():
            empty = '""' if frame.shape[1] == 1 else ""  # the csv module quotes a row's only field when empty
            text = [empty if v == "nan" else v for v in text]
        texts.append(text)
    fh.write("\n".join(texts[0] if len(texts) == 1 else map(",".join, zip(*texts))))
    fh.write("\n")
