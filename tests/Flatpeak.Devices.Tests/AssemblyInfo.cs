// Collections run in parallel, each with a PostgreSQL of its own (see ApiFixture.cs); within one, tests run in turn.
[assembly: CollectionBehavior(CollectionBehavior.CollectionPerClass, DisableTestParallelization = false)]
