from latinno.cli import main

main()
