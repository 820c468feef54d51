import HushAPI

// hush: the command line (HushCommand); everything else lives in HushAPI.
MemoryTuning.apply()
HushCommand.main()
