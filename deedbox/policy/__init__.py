"""deedbox.policy"""
