from govdata.main import cli

cli()
