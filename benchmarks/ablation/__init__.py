"""The FER-2013 recipe's parts compared one at a time: recipe changes, EMA, ensembles of teachers, distillation."""
