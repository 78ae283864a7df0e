from moneyrail.cli import app

app()
