"""deedbox.ops"""
