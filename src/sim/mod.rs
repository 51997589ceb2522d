//! PLACEHOLDER: simulated SNMP agents (being written by the simulator helper).
