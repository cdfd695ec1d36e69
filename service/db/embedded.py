"""An embedded PostgreSQL server for running with no configuration."""

import logging
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI); pgserver
    # then uses /tmp for its socket lock, which is fine.
    warnings.simplefilter("ignore")
    import pgserver as pgserver  # re-exported: tests share this warning-free import

log = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path, *, stop_at_exit: bool = True) -> str:
    """Start (or reuse) a PostgreSQL server keeping its data in `data_dir/pgdata`.

    Blocks until the server accepts connections and returns its connection URL. The data
    survives restarts; the server stops when this process exits, unless `stop_at_exit` is false.
    """
    pgdata = data_dir / "pgdata"
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop" if stop_at_exit else None)
    url: str = server.get_uri()
    log.info("embedded PostgreSQL running", extra={"data_dir": str(pgdata)})
    return url
