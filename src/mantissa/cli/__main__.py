from mantissa.cli import main

main()
