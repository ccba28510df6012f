"""The ticket store: schema, migrations, directory, intake journal, tickets."""
