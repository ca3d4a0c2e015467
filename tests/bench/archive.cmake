# archive_rss.sh: persist/hydrate time and peak RSS against a baseline
# (run tests/bench/archive_rss.sh [BUILD_DIR] [SIZE_MB] [BACKEND]).
