{
  "targets": [
    {
      "target_name": "ramoops_search",
      "sources": ["search.c"],
      "cflags": ["-O2", "-std=gnu11", "-Wall", "-Wextra"],
      "libraries": ["-lpthread"]
    }
  ]
}
