"""deedbox.topology"""
