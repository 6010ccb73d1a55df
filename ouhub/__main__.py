from ouhub.cli import main

main(prog_name="ouhub")
