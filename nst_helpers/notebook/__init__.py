"""The notebook layer: what only a notebook needs. Widgets (`widgets`), figures (`plots`),
GIFs (`animation`) and quick mode (`runmode`). `import nst_helpers` loads the widget and
plotting modules only when one of their names is first used."""
