"""W&B's ``wandb.apis`` namespace, for the documented importer code (``wandb.apis.importers``).

The importers live in plugins (``trackwell-mlflow``); this package only resolves
their documented import paths, lazily, so ``import trackwell`` never imports them.
"""
