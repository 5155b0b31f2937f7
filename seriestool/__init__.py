"""
The ./series tool, one module per concern:

- common: paths, errors, running commands, finding interpreters;
- config: series.cfg and the two bases (the sdist and Django main);
- archives: downloading, verifying and extracting a base's archive;
- tree: a materialized tree (base commit + patches), its export and state;
- port: carrying the series from build/django onto Django main, and the
  drift check between patches/ and upstream/;
- venvs: the virtualenvs;
- checks: Django's test runner, baselines, lint and docs;
- postgres: the throwaway PostgreSQL server;
- wheel: the wheel and the example project's run;
- bench: the benchmarks;
- commands: the subcommands that combine the above (run, test, baseline);
- cli: the argument parser.
"""
