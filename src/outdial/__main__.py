"""`python -m outdial`: the same CLI as the `outdial` console script."""

from outdial.cli import main

if __name__ == "__main__":
    main()
