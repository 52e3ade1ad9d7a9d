from vidstyle.cli import app

app(prog_name="vidstyle")
