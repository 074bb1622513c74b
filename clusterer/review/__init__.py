"""Review a result in the browser (`cluster-video review OUTPUT_DIR`), and
hand it to editing software (`cluster-video export`).

actions.py   rename, merge, move a face or a track, hide: the same change to
             the folders as a user's file manager would make, then a re-run
             from the feature cache (one mechanism, two ways in)
suggestions.py  "same person?" pairs, ranked by face distance from the cache
server.py    the loopback HTTP server and its guards (token, Host, Origin)
otio.py, edl.py  exports: OpenTimelineIO markers and a CMX 3600 EDL
"""
