"""``python -m noise2noise_keras ...`` is the ``n2n`` command."""

from noise2noise_keras.cli import main

raise SystemExit(main())
