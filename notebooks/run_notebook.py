"""Execute ``inference.ipynb`` and store it with its outputs, so its figures show on GitHub and when opened cold.

    python notebooks/run_notebook.py      (offline: the shipped models on the `sample` photographs)

The figures are scaled down PNGs; the stored notebook stays small.
"""

from pathlib import Path

import nbclient
import nbformat

NOTEBOOK = Path(__file__).resolve().parent / "inference.ipynb"


def main() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # timestamps would change the file at every run
        if cell.cell_type == "code":  # TensorFlow's C++ start-up lines on stderr say nothing about the results
            cell.outputs = [output for output in cell.outputs if output.get("name") != "stderr"]
    nbformat.write(notebook, NOTEBOOK)
    print(f"{NOTEBOOK}: executed and stored, {NOTEBOOK.stat().st_size / 1024:.0f} kB")


if __name__ == "__main__":
    main()
