"""`python -m marfiq_gateway`: serve the gateway alone (distributed mode), tuned for speed."""

from __future__ import annotations

import uvicorn

from marfiq_gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    uvicorn.run(
        "marfiq_gateway.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        # The gateway is the edge: client-sent X-Forwarded-* mean nothing unless trusted.
        proxy_headers=settings.trust_forwarded_headers,
        server_header=False,
    )


if __name__ == "__main__":
    main()
