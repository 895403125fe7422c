// The integration tests share one database that each test resets: they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
