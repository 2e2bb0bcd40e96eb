"""A bare FastAPI endpoint: the baseline the coordinator's throughput is measured against."""

from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Body(BaseModel):
    """A body of about the size of a deposit report."""

    currency: str
    txid: str
    amount: str


@app.post("/echo")
def echo(body: Body) -> Body:
    """Parse and answer: HTTP, routing and pydantic, no database."""
    return body
